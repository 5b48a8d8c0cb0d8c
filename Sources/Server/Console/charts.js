// Charts drawn as SVG text (as the HTML report does): no library. Each returns an <svg> string with
// role="img" and a title; the numbers are also in a table next to each chart.
export function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const colors = { TRAIN: "#0a58ca", VALIDATION: "#b35900", TEST: "#1a7f37" };

function svg(width, height, title, body) {
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}"><title>${escape(title)}</title>${body}</svg>`;
}

/** Horizontal bars, one group per label, one bar per series (`series`: {name: {label: count}}). */
export function groupedBars(title, labels, series) {
  const names = Object.keys(series), bar = 9, gap = 8, left = 130, width = 600;
  const max = Math.max(1, ...names.flatMap((n) => labels.map((l) => series[n][l] || 0)));
  const group = names.length * bar + gap, height = labels.length * group + 10;
  let body = "";
  labels.forEach((label, i) => {
    const y = 5 + i * group;
    body += `<text x="${left - 6}" y="${y + (names.length * bar) / 2 + 4}" text-anchor="end">${escape(label.slice(0, 20))}</text>`;
    names.forEach((name, j) => {
      const value = series[name][label] || 0, w = ((width - left - 50) * value) / max;
      body += `<rect x="${left}" y="${y + j * bar}" width="${w.toFixed(1)}" height="${bar - 1}" fill="${colors[name] || "#555"}"><title>${escape(`${label}, ${name}: ${value}`)}</title></rect>`;
      body += `<text x="${(left + w + 4).toFixed(1)}" y="${y + j * bar + bar - 1}">${value}</text>`;
    });
  });
  return svg(width, height, title, body);
}

/** A scatter plot with axes (`points`: [{x, y, label}]), y in 0–1. */
export function scatter(title, points, { xLabel, yLabel, xMax, line = false, marker = null } = {}) {
  const width = 600, height = 300, left = 50, right = 15, top = 12, bottom = 40;
  const maxX = xMax ?? Math.max(1, ...points.map((p) => p.x));
  const px = (x) => left + ((width - left - right) * x) / maxX, py = (y) => top + (height - top - bottom) * (1 - y);
  let body = `<line x1="${left}" y1="${py(0)}" x2="${width - right}" y2="${py(0)}" stroke="#57606a"/>`
    + `<line x1="${left}" y1="${top}" x2="${left}" y2="${py(0)}" stroke="#57606a"/>`;
  for (const y of [0, 0.25, 0.5, 0.75, 1]) {
    body += `<text x="${left - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(2)}</text>`
      + `<line x1="${left}" y1="${py(y)}" x2="${width - right}" y2="${py(y)}" stroke="#d0d7de" stroke-dasharray="2 3"/>`;
  }
  for (const f of [0, 0.5, 1]) body += `<text x="${px(f * maxX)}" y="${py(0) + 16}" text-anchor="middle">${+(f * maxX).toFixed(2)}</text>`;
  body += `<text x="${(left + width - right) / 2}" y="${height - 4}" text-anchor="middle">${escape(xLabel)}</text>`
    + `<text x="12" y="${(top + py(0)) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(top + py(0)) / 2})">${escape(yLabel)}</text>`;
  if (line && points.length > 1) {
    body += `<polyline fill="none" stroke="#0a58ca" stroke-width="2" points="${points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`;
  } else {
    for (const p of points) body += `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="#0a58ca"><title>${escape(p.label ?? "")}</title></circle>`;
  }
  if (marker) body += `<circle cx="${px(marker.x).toFixed(1)}" cy="${py(marker.y).toFixed(1)}" r="6" fill="none" stroke="#b42318" stroke-width="2"><title>${escape(marker.label ?? "")}</title></circle>`;
  return svg(width, height, title, body);
}

/** Score bars, highest first (`items`: [{label, score}] with scores in 0–1). */
export function scoreBars(title, items) {
  const width = 400, row = 20, left = 120, height = items.length * row + 4;
  let body = "";
  items.forEach((item, i) => {
    const y = 2 + i * row, w = (width - left - 60) * item.score;
    body += `<text x="${left - 6}" y="${y + 13}" text-anchor="end">${escape(item.label.slice(0, 18))}</text>`
      + `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="#0a58ca"/>`
      + `<text x="${(left + w + 4).toFixed(1)}" y="${y + 13}">${item.score.toFixed(3)}</text>`;
  });
  return svg(width, height, title, body);
}
