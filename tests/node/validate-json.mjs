#!/usr/bin/env node
// Validates a JSON document against a JSON Schema (draft-07, as SARIF 2.1.0's schema and bespoke's
// decision schema are) with Ajv and ajv-formats.
//
// usage: node validate-json.mjs SCHEMA.json DATA.json
// Run this copy from the node test directory (${CMAKE_BINARY_DIR}/tests/node), next to node_modules.
// Prints "valid: DATA" or each error (instance path, message, the failing keyword's parameters);
// exit status 0 valid, 1 invalid, 2 bad usage or unreadable/unparsable input.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [schemaPath, dataPath] = process.argv.slice(2);
if (!schemaPath || !dataPath || process.argv.length !== 4) {
  console.error('usage: node validate-json.mjs SCHEMA.json DATA.json');
  process.exit(2);
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    console.error(`validate-json: ${path}: ${e.message}`);
    process.exit(2);
  }
}

const schema = readJson(schemaPath);
const data = readJson(dataPath);
// strict: false, because published schemas use keywords and formats Ajv's strict mode rejects;
// unicodeRegExp: false, because SARIF 2.1.0's language pattern ("...[a-zA-Z]{2}]?$") is not a valid
// regular expression with the u flag.
const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
addFormats(ajv);
let validate;
try {
  validate = ajv.compile(schema);
} catch (e) {
  console.error(`validate-json: ${schemaPath}: cannot compile the schema: ${e.message}`);
  process.exit(2);
}
if (validate(data)) {
  console.log(`valid: ${dataPath}`);
  process.exit(0);
}
for (const err of validate.errors) {
  console.log(`invalid: ${dataPath}: ${err.instancePath || '/'}: ${err.message} ${JSON.stringify(err.params)}`);
}
process.exit(1);
