// JSON Schema verdicts with ajv (draft-07, what the scaffolder's form validates with):
//   node schema.cjs < [[schema, value], ...]  ->  [true|false, ...] as JSON
'use strict';

const fs = require('node:fs');
const Ajv = require('ajv');

const ajv = new Ajv({ strict: false });
const pairs = JSON.parse(fs.readFileSync(0, 'utf8'));
console.log(JSON.stringify(pairs.map(([schema, value]) => ajv.validate(schema, value))));
