/**
 * intel: threat intelligence — for now the MITRE ATT&CK Enterprise catalog that validates technique ids
 * on cases; STIX/TAXII, indicators, warning lists and verdict scoring join as their issue lands.
 */
export { type AttackCatalog, type AttackTactic, type AttackTechnique, loadAttackCatalog } from './attack/catalog.ts';
