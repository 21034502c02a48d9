import * as encoding from 'lib0/encoding'
import { TandemError } from './errors.js'
import type { Reader } from './reader.js'

/** y-protocols sync sub-message types. */
export const SyncStep = { step1: 0, step2: 1, update: 2 } as const

export type SyncMessage =
  | { readonly type: 'sync-step1'; readonly stateVector: Uint8Array }
  | { readonly type: 'sync-step2'; readonly update: Uint8Array }
  | { readonly type: 'sync-update'; readonly update: Uint8Array }

export const readSync = (reader: Reader, maxUpdateBytes: number): SyncMessage => {
  const step = reader.uint()
  switch (step) {
    case SyncStep.step1:
      return { type: 'sync-step1', stateVector: reader.bytes(maxUpdateBytes) }
    case SyncStep.step2:
      return { type: 'sync-step2', update: reader.bytes(maxUpdateBytes) }
    case SyncStep.update:
      return { type: 'sync-update', update: reader.bytes(maxUpdateBytes) }
    default:
      throw new TandemError('UNKNOWN_MESSAGE_TYPE', `sync step ${step}`)
  }
}

export const writeSync = (encoder: encoding.Encoder, message: SyncMessage): void => {
  switch (message.type) {
    case 'sync-step1':
      encoding.writeVarUint(encoder, SyncStep.step1)
      encoding.writeVarUint8Array(encoder, message.stateVector)
      return
    case 'sync-step2':
      encoding.writeVarUint(encoder, SyncStep.step2)
      encoding.writeVarUint8Array(encoder, message.update)
      return
    case 'sync-update':
      encoding.writeVarUint(encoder, SyncStep.update)
      encoding.writeVarUint8Array(encoder, message.update)
  }
}
