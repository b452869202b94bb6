/**
 * The rate-over-time chart as plain SVG (no dependency): one polyline per rate-fidelity run, the
 * rate of each second as a fraction of what the SMSC allows, so runs of 50 and 4,000 msg/s share
 * one axis and any shortfall shows as a dip below the 1.0 line.
 */
export interface Series {
  label: string;
  /** Per-second values, already divided by the allowed rate. */
  values: number[];
}

const WIDTH = 860;
const HEIGHT = 420;
const PAD = { left: 56, right: 210, top: 36, bottom: 48 };
const Y_MAX = 1.1;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fix = (v: number): string => v.toFixed(1);

export function rateChart(series: Series[], title: string): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const seconds = Math.max(1, ...series.map((s) => s.values.length));
  const x = (i: number): number => PAD.left + (seconds <= 1 ? 0 : (i / (seconds - 1)) * plotW);
  const y = (v: number): number => PAD.top + plotH - (Math.min(Math.max(v, 0), Y_MAX) / Y_MAX) * plotH;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(
      `<line x1="${PAD.left}" y1="${fix(y(v))}" x2="${PAD.left + plotW}" y2="${fix(y(v))}" stroke="${v === 1 ? '#444' : '#ddd'}"${v === 1 ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${PAD.left - 8}" y="${fix(y(v) + 4)}" text-anchor="end">${v.toFixed(2)}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(seconds / 10));
  for (let i = 0; i < seconds; i += step) {
    out.push(`<text x="${fix(x(i))}" y="${PAD.top + plotH + 18}" text-anchor="middle">${i}</text>`);
  }
  out.push(
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}" stroke="black"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${PAD.left + plotW}" y2="${PAD.top + plotH}" stroke="black"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">seconds since the first acceptance</text>`,
    `<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">accepted per second ÷ allowed</text>`,
  );
  series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length] ?? 'black';
    const points = s.values.map((v, i) => `${fix(x(i))},${fix(y(v))}`).join(' ');
    if (points) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"/>`);
    const ly = PAD.top + 8 + k * 18;
    out.push(
      `<line x1="${PAD.left + plotW + 14}" y1="${ly}" x2="${PAD.left + plotW + 34}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${PAD.left + plotW + 40}" y="${ly + 4}">${esc(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
