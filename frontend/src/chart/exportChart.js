// A drawn chart as a file: SVG with the page's computed styles written onto each element (the stylesheet does
// not travel with the file), and PNG rendered from that SVG at twice the size on a canvas.

const STYLED = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'opacity',
  'font-family', 'font-size', 'font-weight', 'text-anchor', 'dominant-baseline'];

/** A standalone copy of an <svg>: inline styles, a background, and the XML namespace. */
export function standaloneSvg(svg, background) {
  const copy = svg.cloneNode(true);
  const source = [svg, ...svg.querySelectorAll('*')];
  const target = [copy, ...copy.querySelectorAll('*')];
  source.forEach((el, i) => {
    const cs = getComputedStyle(el);
    target[i].setAttribute('style', STYLED.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(';'));
  });
  copy.querySelectorAll('.overlay').forEach((el) => el.remove());
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', background);
  copy.insertBefore(bg, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}

function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const background = () => getComputedStyle(document.documentElement).getPropertyValue('--panel').trim() || '#fff';

export function downloadSvg(svg, name) {
  download(new Blob([standaloneSvg(svg, background())], { type: 'image/svg+xml' }), `${name}.svg`);
}

/** Renders the SVG on a canvas at `scale`× and resolves with the PNG blob. */
export function pngBlob(svg, scale = 2) {
  const text = standaloneSvg(svg, background());
  const { width, height } = svg.getBoundingClientRect();
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

export const downloadPng = (svg, name) => pngBlob(svg).then((blob) => download(blob, `${name}.png`));
