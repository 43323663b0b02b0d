// Backstage's own validators, offline, on catalog files and software templates.
//
//   node validate.cjs [--text URL=FILE ...] FILE...
//
// Each FILE is read the way the catalog reads a location (every YAML document is an entity,
// parsed with the `yaml` package), `$text` placeholders are filled from the --text files (the
// catalog's PlaceholderProcessor fetches the URL; here it must be given, and an unresolved one is
// an error), then each entity goes through the catalog's default entity policies
// (@backstage/catalog-model: SchemaValidEntityPolicy, DefaultNamespaceEntityPolicy,
// NoForeignRootFieldsEntityPolicy, FieldFormatEntityPolicy) and the validator of its kind:
// componentEntityV1alpha1Validator / apiEntityV1alpha1Validator (catalog-model, as the catalog's
// BuiltinKindsEntityProcessor runs them) or templateEntityV1beta3Validator
// (@backstage/plugin-scaffolder-common, as the scaffolder's ScaffolderEntitiesProcessor runs it).
// A Template's parameter pages are also compiled as JSON Schema (draft-07, ajv, which the
// scaffolder's form validates with) and each default checked against its own property.
// Prints one line per entity; exits 1 on the first file with a problem.
'use strict';

const fs = require('node:fs');
const yaml = require('yaml');
const model = require('@backstage/catalog-model');
// Loaded for the first Template only: the scaffolder's package costs most of a catalog file's time.
const scaffolder = () => require('@backstage/plugin-scaffolder-common');

const policy = model.EntityPolicies.allOf([
  new model.SchemaValidEntityPolicy(),
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
]);
const kindValidators = entity =>
  entity.kind === 'Template'
    ? [scaffolder().templateEntityV1beta3Validator]
    : [model.componentEntityV1alpha1Validator, model.apiEntityV1alpha1Validator];

function fillPlaceholders(value, texts, where) {
  if (Array.isArray(value)) return value.map((item, i) => fillPlaceholders(item, texts, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0].startsWith('$')) {
    const [key] = keys;
    if (key !== '$text' || typeof value[key] !== 'string') throw new Error(`${where}: unsupported placeholder ${key}`);
    if (!(value[key] in texts)) throw new Error(`${where}: $text ${value[key]} was not given (--text URL=FILE)`);
    return texts[value[key]];
  }
  return Object.fromEntries(keys.map(k => [k, fillPlaceholders(value[k], texts, `${where}.${k}`)]));
}

function checkTemplateParameters(entity) {
  const Ajv = require('ajv');
  const ajv = new Ajv({ strict: false, allErrors: true });
  [].concat(entity.spec.parameters ?? []).forEach((page, i) => {
    try {
      ajv.compile(page);
    } catch (error) {
      throw new Error(`spec.parameters[${i}] is not a valid JSON Schema: ${error.message}`);
    }
    for (const [name, property] of Object.entries(page.properties ?? {})) {
      if ('default' in property && !ajv.validate(property, property.default)) {
        throw new Error(`spec.parameters[${i}].${name} refuses its own default: ${ajv.errorsText()}`);
      }
    }
  });
}

async function validateFile(file, texts) {
  const documents = yaml.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const lines = [];
  for (const [index, document] of documents.entries()) {
    if (document.errors.length) throw new Error(`document ${index}: ${document.errors[0].message}`);
    const raw = document.toJSON();
    if (raw === null) continue;
    const entity = fillPlaceholders(raw, texts, `document ${index}`);
    await policy.enforce(entity);
    let matched = false;
    for (const validator of kindValidators(entity)) {
      if (await validator.check(entity)) matched = true;
    }
    if (!matched) throw new Error(`document ${index}: no validator for ${entity.apiVersion} ${entity.kind}`);
    if (entity.kind === 'Template' && scaffolder().isTemplateEntityV1beta3(entity)) checkTemplateParameters(entity);
    lines.push(`ok ${file}: ${model.stringifyEntityRef(entity)}`);
  }
  if (!lines.length) throw new Error('no entity');
  return lines;
}

async function main(args) {
  const texts = {};
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--text') {
      const [url, path] = args[++i].split(/=(.*)/s);
      texts[url] = fs.readFileSync(path, 'utf8');
    } else {
      files.push(args[i]);
    }
  }
  for (const file of files) {
    try {
      console.log((await validateFile(file, texts)).join('\n'));
    } catch (error) {
      console.error(`invalid ${file}: ${error.message}`);
      process.exit(1);
    }
  }
}

main(process.argv.slice(2));
