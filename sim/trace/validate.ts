/** Validates a trace against the repository's JSON Schema (sim/trace/trace.schema.json). */
import Ajv from 'ajv';
import schema from './trace.schema.json';

const ajv = new Ajv({ allErrors: false, strict: false });
const validator = ajv.compile(schema);

/** Undefined when valid, else the first problem as "path: message". */
export function traceProblem(trace: unknown): string | undefined {
  const plain = JSON.parse(JSON.stringify(trace));
  if (validator(plain)) return undefined;
  const e = validator.errors![0];
  return `${e.instancePath || '/'}: ${e.message}`;
}
