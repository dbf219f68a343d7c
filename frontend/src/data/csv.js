// One CSV table out of several of the API's CSV answers (a chart whose metrics need several /api/query requests,
// e.g. a grouped metric beside another): "Copy CSV" pasted one table per request, headers and all (issue 26).

/** Parses RFC 4180 CSV (quoted fields, "" inside quotes) into rows of strings. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

const quote = (v) => `"${String(v).replace(/"/g, '""')}"`;

/**
 * The tables as one: every column of any of them (the value last, as the API writes it), each row under its own
 * columns, empty where its table had no such column. Quoted as the API quotes.
 */
export function mergeCsv(texts) {
  const tables = texts.map(parseCsv).filter((t) => t.length);
  const columns = [...new Set(tables.flatMap((t) => t[0]))];
  const order = [...columns.filter((c) => c !== 'value'), ...columns.filter((c) => c === 'value')];
  const lines = [order.map(quote).join(',')];
  for (const [head, ...rows] of tables) {
    const at = order.map((c) => head.indexOf(c));
    for (const r of rows) lines.push(at.map((i) => quote(i < 0 ? '' : r[i])).join(','));
  }
  return `${lines.join('\n')}\n`;
}
