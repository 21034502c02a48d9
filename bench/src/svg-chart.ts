/**
 * Horizontal bar charts as plain SVG, written by hand so the report needs no service and no
 * plotting library. One chart holds several panels, each with its own linear scale.
 */

export interface Bar {
  readonly label: string
  readonly value: number
  readonly color: string
}

export interface Panel {
  readonly title: string
  readonly unit: string
  readonly bars: readonly Bar[]
  /** Shown under the title, e.g. "lower is better". */
  readonly hint?: string
}

const WIDTH = 760
const LABEL_WIDTH = 230
const VALUE_WIDTH = 110
const BAR_HEIGHT = 20
const BAR_GAP = 6
const PANEL_HEAD = 44
const PANEL_GAP = 22

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export const formatNumber = (value: number): string => {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  if (abs >= 100_000) return `${Math.round(value / 1000)}k`
  if (abs >= 10_000) return `${(value / 1000).toFixed(1)}k`
  if (abs >= 100) return String(Math.round(value))
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  return value.toPrecision(2)
}

export const renderChart = (title: string, panels: readonly Panel[]): string => {
  const parts: string[] = []
  let y = 40
  parts.push(`<text x="16" y="26" font-size="17" font-weight="600">${escape(title)}</text>`)
  for (const panel of panels) {
    const finite = panel.bars.filter((bar) => Number.isFinite(bar.value))
    const max = Math.max(1e-9, ...finite.map((bar) => bar.value))
    parts.push(`<text x="16" y="${y + 18}" font-size="14" font-weight="600">${escape(panel.title)}</text>`)
    if (panel.hint !== undefined) parts.push(`<text x="16" y="${y + 35}" font-size="11" fill="#555">${escape(panel.hint)}</text>`)
    let barY = y + PANEL_HEAD
    const span = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 16
    for (const bar of panel.bars) {
      const width = Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * span) : 0
      parts.push(`<text x="${LABEL_WIDTH - 8}" y="${barY + 14}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`)
      if (width > 0) parts.push(`<rect x="${LABEL_WIDTH}" y="${barY}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.color}" rx="2"/>`)
      const text = Number.isFinite(bar.value) ? `${formatNumber(bar.value)} ${panel.unit}` : 'not measured'
      parts.push(`<text x="${LABEL_WIDTH + width + 6}" y="${barY + 14}" font-size="12">${escape(text)}</text>`)
      barY += BAR_HEIGHT + BAR_GAP
    }
    y = barY + PANEL_GAP
  }
  const height = y
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}
