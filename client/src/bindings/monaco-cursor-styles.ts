import { readUser } from '../presence.js'
import type { AwarenessProvider, Binding } from './types.js'

/**
 * The stylesheet is built from peers' awareness states, which anyone in the room can write: colors
 * must be plain hex, and every name character but letters, digits and spaces is CSS-escaped, so no
 * name can close the string or the rule.
 */
export const cssColor = (color: string): string => (/^#[0-9a-f]{3,8}$/i.test(color) ? color : '#888888')
export const cssString = (text: string): string =>
  `"${[...text.slice(0, 64)].map((c) => (/^[\p{L}\p{N} ]$/u.test(c) ? c : `\\${c.codePointAt(0)?.toString(16) ?? ''} `)).join('')}"`

/**
 * The per-user styles y-monaco leaves to the app: it decorates remote selections with the classes
 * `yRemoteSelection-<clientId>` and `yRemoteSelectionHead-<clientId>` and nothing else. This keeps
 * one stylesheet in step with the awareness: a caret in the user's color with their name above it.
 */
export const monacoCursorStyles = (provider: AwarenessProvider, target: Document = document): Binding => {
  const style = target.createElement('style')
  style.dataset.tandem = 'monaco-cursors'
  target.head.append(style)
  const render = () => {
    const rules: string[] = []
    for (const [clientId, state] of provider.awareness.getStates()) {
      if (clientId === provider.awareness.clientID) continue
      const user = readUser(state)
      if (user === null) continue
      const color = cssColor(user.color)
      rules.push(
        `.yRemoteSelection-${clientId} { background-color: ${color}33; }`,
        `.yRemoteSelectionHead-${clientId} { position: absolute; box-sizing: border-box; height: 100%; border-left: 2px solid ${color}; }`,
        `.yRemoteSelectionHead-${clientId}::after { position: absolute; top: -1.4em; left: -2px; padding: 0 4px; border-radius: 3px 3px 3px 0; ` +
          `background: ${color}; color: #fff; font: 11px/1.4 sans-serif; white-space: nowrap; content: ${cssString(user.name)}; }`,
      )
    }
    style.textContent = rules.join('\n')
  }
  provider.awareness.on('change', render)
  render()
  return {
    destroy: () => {
      provider.awareness.off('change', render)
      style.remove()
    },
  }
}
