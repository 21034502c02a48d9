import { describe, expect, it } from 'vitest'
import { cssColor, cssString } from './monaco-cursor-styles.js'

describe('monaco cursor styles', () => {
  it('keeps names inside their CSS string whatever they hold', () => {
    expect(cssString('Ada Lovelace')).toBe('"Ada Lovelace"')
    const hostile = cssString('x"; } body { display: none } .a { content: "')
    expect(hostile.slice(1, -1)).not.toMatch(/["{};]/)
    expect(cssString('Zoë 李')).toBe('"Zoë 李"')
    expect(cssString('a\\b')).toBe('"a\\5c b"')
  })

  it('accepts only hex colors', () => {
    expect(cssColor('#4363d8')).toBe('#4363d8')
    expect(cssColor('red; background: url(x)')).toBe('#888888')
  })
})
