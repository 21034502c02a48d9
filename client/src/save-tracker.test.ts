import { describe, expect, it } from 'vitest'
import { SaveTracker } from './save-tracker.js'

const tracked = () => {
  const events: string[] = []
  const tracker = new SaveTracker(
    (count) => events.push(`unsaved ${count}`),
    () => events.push('saved'),
  )
  return { tracker, events }
}

describe('SaveTracker', () => {
  it('is saved once every update is acknowledged, and says so once', () => {
    const { tracker, events } = tracked()
    tracker.sentUpdate()
    tracker.sentUpdate()
    tracker.acknowledged()
    expect(tracker.unsavedChanges).toBe(1)
    tracker.acknowledged()
    expect(tracker.unsavedChanges).toBe(0)
    expect(events).toEqual(['unsaved 1', 'saved'])
  })

  it('counts offline changes as one, carried by the next step 2', () => {
    const { tracker, events } = tracked()
    tracker.changedOffline()
    tracker.changedOffline()
    expect(tracker.unsavedChanges).toBe(1)
    tracker.sentStep2()
    expect(tracker.unsavedChanges).toBe(1)
    tracker.acknowledged()
    expect(events).toEqual(['unsaved 1', 'saved'])
  })

  it('keeps changes in flight unsaved across a dropped connection', () => {
    const { tracker } = tracked()
    tracker.sentUpdate()
    tracker.sentUpdate()
    tracker.connectionLost()
    expect(tracker.unsavedChanges).toBe(1)
    // A late acknowledgement cannot come from the old socket; nothing to count down before step 2.
    tracker.acknowledged()
    expect(tracker.unsavedChanges).toBe(1)
    tracker.sentStep2()
    tracker.acknowledged()
    expect(tracker.unsavedChanges).toBe(0)
  })
})
