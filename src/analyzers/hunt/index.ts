/**
 * analyzers/hunt: hunt definitions from a Sigma rule, a STIX 2.1 windows-registry-key indicator or a plain
 * registry IOC, each with its ATT&CK techniques (checked against the catalog) and its backend queries.
 */
export {
  type HuntDefinition,
  type HuntOptions,
  type HuntQuery,
  type HuntSourceKind,
  type HuntTechnique,
  huntFromRegistryIoc,
  huntFromSigma,
  huntFromStixIndicator,
  huntQueries,
  type RegistryIoc,
  registryKeyValue,
  registryValueEvent,
  resolveTechniques,
  sysmonRegistryPath,
} from './hunt-definition.ts';
