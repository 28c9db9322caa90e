/** Validates a trace against the repository's JSON Schema (sim/trace/trace.schema.json). */
import type Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import schema from './trace.schema.json';

let compiled: ValidateFunction | undefined;

/**
 * Loaded and compiled on first use: only `viz` and the tests validate, and loading ajv costs
 * every other command's start (the CLI's bundle leaves it out).
 */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const { default: AjvClass } = require('ajv') as { default: typeof Ajv };
  return (compiled = new AjvClass({ allErrors: false, strict: false }).compile(schema));
}

/** Undefined when valid, else the first problem as "path: message". */
export function traceProblem(trace: unknown): string | undefined {
  const plain = JSON.parse(JSON.stringify(trace));
  const validate = validator();
  if (validate(plain)) return undefined;
  const e = validate.errors![0];
  return `${e.instancePath || '/'}: ${e.message}`;
}
