// A drawn chart as a file: the chart's <svg> under its title and time range, with its legend below, as SVG, and
// as PNG rendered from that SVG at twice the size on a canvas. The page's computed styles are written onto each
// element as SVG presentation attributes (fill="…"), not style="…": the page's Content-Security-Policy forbids
// inline styles, and each one set was a console error (issue 26: 268–2,596 per export).

const NS = 'http://www.w3.org/2000/svg';
const STYLED = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'opacity',
  'font-family', 'font-size', 'font-weight', 'text-anchor', 'dominant-baseline'];
const HEAD = 44; // px above the chart: title and time range
const ROW = 18; // px per legend row

const themed = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function node(name, attrs, text) {
  const el = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

/** A copy of the chart's <svg> that looks the same without the page's stylesheet. */
function styledCopy(svg) {
  const copy = svg.cloneNode(true);
  const source = [svg, ...svg.querySelectorAll('*')];
  const target = [copy, ...copy.querySelectorAll('*')];
  source.forEach((el, i) => {
    const cs = getComputedStyle(el);
    for (const p of STYLED) target[i].setAttribute(p, cs.getPropertyValue(p));
  });
  copy.querySelectorAll('.overlay').forEach((el) => el.remove());
  return copy;
}

/**
 * The file's SVG text: `caption` = {title, range (text), legend: [{color, name, values (text)}]} around the
 * chart `svg`, on the theme's panel colour.
 */
export function standaloneSvg(svg, caption) {
  const { width, height } = svg.getBoundingClientRect();
  const font = themed('--font', 'sans-serif');
  const [text, muted] = [themed('--text', '#1d2433'), themed('--muted', '#6b7385')];
  const legend = caption.legend || [];
  const total = HEAD + height + (legend.length ? legend.length * ROW + 10 : 0);
  const root = node('svg', { xmlns: NS, width, height: total, viewBox: `0 0 ${width} ${total}`, 'font-family': font });
  root.append(node('rect', { width: '100%', height: '100%', fill: themed('--panel', '#fff') }));
  root.append(node('text', { x: 8, y: 18, 'font-size': 14, 'font-weight': 600, fill: text }, caption.title));
  root.append(node('text', { x: 8, y: 35, 'font-size': 11, fill: muted }, caption.range));
  const chart = styledCopy(svg);
  chart.setAttribute('x', 0);
  chart.setAttribute('y', HEAD);
  root.append(chart);
  legend.forEach((row, i) => {
    const y = HEAD + height + 8 + i * ROW;
    root.append(node('rect', { x: 8, y: y + 5, width: 14, height: 3, fill: row.color }));
    root.append(node('text', { x: 28, y: y + 10, 'font-size': 12, fill: text }, row.name));
    root.append(node('text', { x: width - 8, y: y + 10, 'font-size': 11, fill: muted, 'text-anchor': 'end' }, row.values));
  });
  return { text: new XMLSerializer().serializeToString(root), width, height: total };
}

function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export function downloadSvg(svg, caption, name) {
  download(new Blob([standaloneSvg(svg, caption).text], { type: 'image/svg+xml' }), `${name}.svg`);
}

/** Renders the captioned SVG on a canvas at `scale`× and resolves with the PNG blob. */
export function pngBlob(svg, caption, scale = 2) {
  const { text, width, height } = standaloneSvg(svg, caption);
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      const ctx = canvas.getContext('2d');
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, width, height);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the canvas gave no PNG'))), 'image/png');
    };
    img.onerror = () => reject(new Error('the chart could not be rendered as an image'));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  });
}

export const downloadPng = (svg, caption, name) => pngBlob(svg, caption).then((blob) => download(blob, `${name}.png`));
