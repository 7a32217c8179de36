import { RiposteError } from '../../core/index.ts';
import { kqlDialect } from './kql-backend.ts';
import { osqueryDialect } from './osquery-backend.ts';
import { CONVERSION_TARGETS, type ConversionTarget, type DialectFactory, type QueryDialect } from './query-dialect.ts';
import type { Condition, Detection, SigmaRule } from './rule-model.ts';
import { splunkDialect } from './splunk-backend.ts';

/**
 * Conversion of a parsed rule into a backend's query language. The condition tree is walked once; each
 * backend (a `QueryDialect`) says how to render a field test, a list, and/or/not, and what wraps the
 * expression (table, source). What a backend cannot express raises `sigma.conversion_unsupported`
 * naming the construct, rather than producing a query that would silently mean something else.
 */

export { CONVERSION_TARGETS, type ConversionTarget } from './query-dialect.ts';

const DIALECTS: Record<ConversionTarget, DialectFactory> = {
  kql: kqlDialect,
  osquery: osqueryDialect,
  splunk: splunkDialect,
};

export function convertSigmaRule(rule: SigmaRule, target: ConversionTarget): string {
  const factory = DIALECTS[target];
  if (!factory)
    throw new RiposteError('input.invalid', `unknown conversion target ${JSON.stringify(target)} (use ${CONVERSION_TARGETS.join(', ')})`, { status: 400 });
  const dialect = factory(rule);
  const cache = new Map<string, string>();
  const identifier = (name: string) => {
    let rendered = cache.get(name);
    if (rendered === undefined) {
      rendered = renderDetection(rule.detections.get(name) as Detection, dialect);
      cache.set(name, rendered);
    }
    return rendered;
  };
  const parts = rule.conditions.map((c) => renderCondition(c, dialect, identifier));
  return dialect.query(parts.length === 1 ? (parts[0] as string) : dialect.or(parts));
}

function renderDetection(detection: Detection, dialect: QueryDialect): string {
  switch (detection.kind) {
    case 'keywords':
      return dialect.item(detection.item);
    case 'map':
      return dialect.and(detection.items.map((i) => dialect.item(i)));
    case 'any':
      return dialect.or(detection.detections.map((d) => renderDetection(d, dialect)));
  }
}

function renderCondition(condition: Condition, dialect: QueryDialect, identifier: (name: string) => string): string {
  switch (condition.kind) {
    case 'ref':
      return identifier(condition.name);
    case 'not':
      return dialect.not(renderCondition(condition.operand, dialect, identifier));
    case 'and':
      return dialect.and(condition.operands.map((o) => renderCondition(o, dialect, identifier)));
    case 'or':
      return dialect.or(condition.operands.map((o) => renderCondition(o, dialect, identifier)));
    case 'of': {
      const parts = condition.names.map(identifier);
      return condition.quantifier === 'all' ? dialect.and(parts) : dialect.or(parts);
    }
  }
}
