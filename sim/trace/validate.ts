/** Validates a trace against the repository's JSON Schema (sim/trace/trace.schema.json). */
import Ajv, { ValidateFunction } from 'ajv';
import schema from './trace.schema.json';

let compiled: ValidateFunction | undefined;

/** Compiled on first use: only `viz` and the tests validate, and compiling costs every other command's start. */
function validator(): ValidateFunction {
  return (compiled ??= new Ajv({ allErrors: false, strict: false }).compile(schema));
}

/** Undefined when valid, else the first problem as "path: message". */
export function traceProblem(trace: unknown): string | undefined {
  const plain = JSON.parse(JSON.stringify(trace));
  const validate = validator();
  if (validate(plain)) return undefined;
  const e = validate.errors![0];
  return `${e.instancePath || '/'}: ${e.message}`;
}
