// The steps a software template runs for given form answers, as Backstage's scaffolder sees them:
// every string rendered the way @backstage/plugin-scaffolder-backend's NunjucksWorkflowRunner
// renders step inputs (nunjitsu's renderValue with json coercion; a string it cannot render stays
// as it is), and a step whose `if` renders to a value that is not truthy (its isTruthy) dropped.
// A fetch:template:file step also gets `rendered`: its file (relative to `base`, the directory of
// template.yaml) rendered with its values as that action does (nunjitsu's render, `values`).
//
//   node scaffold.cjs < {"template": <entity>, "base": DIR, "answers": [{...}, ...]}  ->  [[steps], ...]
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createTemplateRenderer } = require('nunjitsu');

const renderer = createTemplateRenderer();

function render(input, context) {
  return JSON.parse(JSON.stringify(input), (_key, value) => {
    if (typeof value !== 'string') return value;
    try {
      return renderer.renderValue(value, context, { coercion: 'json' });
    } catch {
      return value;
    }
  });
}

const isTruthy = value => (Array.isArray(value) ? value.length > 0 : !!value);

function templateFile(step, base) {
  const text = fs.readFileSync(path.resolve(base, step.input.url), 'utf8');
  return { ...step, rendered: renderer.render(text, { values: step.input.values }) };
}

function run(template, base, parameters) {
  const context = { parameters, steps: {} };
  return template.spec.steps
    .filter(step => step.if === undefined || (step.if !== false && isTruthy(render({ if: step.if }, context).if)))
    .map(({ if: _if, ...step }) => ({ ...step, input: render(step.input ?? {}, context) }))
    .map(step => (step.action === 'fetch:template:file' ? templateFile(step, base) : step));
}

const { template, base, answers } = JSON.parse(fs.readFileSync(0, 'utf8'));
console.log(JSON.stringify(answers.map(parameters => run(template, base, parameters))));
