// Metric selectors in the API's syntax: name{key="value",key="other"} (a repeated key means OR).

const escape = (s) => String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** Formats {name, filters: {key: [values]}} as `name{key="v",...}`; no braces without filters. */
export function formatSelector({ name, filters = {} }) {
  const parts = [];
  for (const key of Object.keys(filters).sort()) {
    for (const value of filters[key] || []) parts.push(`${key}="${escape(value)}"`);
  }
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/** Parses `name{key="v",...}` back into {name, filters}; tolerant of spaces. */
export function parseSelector(text) {
  const str = String(text).trim();
  const brace = str.indexOf('{');
  if (brace < 0) return { name: str, filters: {} };
  const name = str.slice(0, brace).trim();
  const body = str.slice(brace + 1, str.lastIndexOf('}') > brace ? str.lastIndexOf('}') : str.length);
  const filters = {};
  const re = /\s*([^=,\s]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  let m;
  while ((m = re.exec(body)) !== null) {
    const value = m[2].replace(/\\(.)/g, '$1');
    (filters[m[1]] ||= []).push(value);
    if (re.lastIndex >= body.length) break;
  }
  return { name, filters };
}
