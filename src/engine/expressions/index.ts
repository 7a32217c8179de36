export { COLLECTION_LIMIT, FILTERS, TESTS } from './filters.ts';
export { REGEX_INPUT_LIMIT, REGEX_PATTERN_LIMIT } from './security-filters.ts';
export {
  type CompiledTemplate,
  checkTemplatesDeep,
  compileTemplate,
  EVALUATION_BUDGET,
  evaluateDeep,
  hasTemplateSyntax,
  OUTPUT_LIMIT,
  TemplateSyntaxError,
} from './template.ts';
export { type DataValue, ExpressionError, isPlainObject, isTruthy, memberOf, toData, toPlainData, toText } from './values.ts';
