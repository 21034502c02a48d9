import * as Y from 'yjs'
import { TandemError } from '@tandem/protocol'

/**
 * Refuses an update whose bytes do not decode, before it reaches the live document: Y.applyUpdate
 * can throw halfway through and leave the half it applied in the document.
 */
export const validateUpdate = (update: Uint8Array): void => {
  try {
    Y.decodeUpdate(update)
  } catch (error) {
    throw new TandemError('INVALID_UPDATE', error instanceof Error ? error.message : String(error))
  }
}
