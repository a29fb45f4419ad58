// Search-parameter values the services share: _count, and date prefixes over a calendar range.
const { ServerError, resolveSchema } = require('@asymmetrik/node-fhir-server-core');

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;

const invalid = (message, code = 'invalid') =>
  new ServerError(message, {
    statusCode: 400,
    issue: [{ severity: 'error', code, details: { text: message } }],
  });

// The core only passes on the search parameters of the resource's definition, so the page size
// comes from the query string itself.
const pageSize = (req) => {
  const raw = req.query._count;
  if (raw === undefined) return DEFAULT_COUNT;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw invalid('_count must be a number');
  return Math.min(Number(raw), MAX_COUNT);
};

const rejectOthers = (args, supported) => {
  for (const name of Object.keys(args)) {
    if (name !== 'base_version' && !supported.includes(name)) {
      throw invalid(`search parameter ${name} is not supported`, 'not-supported');
    }
  }
};

const iso = (date) => date.toISOString().slice(0, 10);

// `[prefix]YYYY[-MM[-DD]]` as the prefix and the half-open range [start, end) it names.
const dateRange = (value) => {
  const m = /^(eq|gt|lt|ge|le)?(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (!m) throw invalid(`unsupported date value ${value}`);
  const [, prefix = 'eq', y, mo, d] = m;
  const start = new Date(Date.UTC(Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1));
  const end = new Date(start);
  if (d) end.setUTCDate(end.getUTCDate() + 1);
  else if (mo) end.setUTCMonth(end.getUTCMonth() + 1);
  else end.setUTCFullYear(end.getUTCFullYear() + 1);
  return { prefix, start: iso(start), end: iso(end) };
};

// The SQL condition of a date search on a value whose own range is [lower, upper), with the
// FHIR prefix meanings: eq contains, ge/gt overlap what is at/after, le/lt what is before.
const dateCondition = ({ prefix, start, end }, lower, upper, bind) => {
  switch (prefix) {
    case 'eq':
      return `(${lower} >= ${bind(start)}::date AND ${upper} <= ${bind(end)}::date)`;
    case 'ge':
      return `${upper} > ${bind(start)}::date`;
    case 'gt':
      return `${upper} > ${bind(end)}::date`;
    case 'le':
      return `${lower} < ${bind(end)}::date`;
    default:
      return `${lower} < ${bind(start)}::date`;
  }
};

// A token's system and code: `system|code`, `|code` (no system) or `code` (any system).
const token = (value) => {
  const bar = value.indexOf('|');
  if (bar < 0) return { system: undefined, code: value };
  return { system: value.slice(0, bar), code: value.slice(bar + 1) };
};

// Collects bound values and hands out their `$n` placeholders.
class Binds {
  constructor() {
    this.values = [];
  }
  bind = (value) => {
    this.values.push(value);
    return `$${this.values.length}`;
  };
}

// The searchset of one page of `resources`, each with its fullUrl under the request's base.
function searchset(args, context, resourceType, resources) {
  const Bundle = resolveSchema(args.base_version, 'bundle');
  const BundleEntry = resolveSchema(args.base_version, 'bundleentry');
  const base = `${context.req.protocol}://${context.req.get('host')}/${args.base_version}`;
  return new Bundle({
    type: 'searchset',
    entry: resources.map(
      (resource) =>
        new BundleEntry({
          fullUrl: `${base}/${resourceType}/${resource.id}`,
          resource,
          search: { mode: 'match' },
        })
    ),
  });
}

module.exports = { pageSize, rejectOthers, dateRange, dateCondition, token, invalid, Binds, searchset };
