/**
 * Counts local changes the server has not yet durably stored. The server sends one SyncStatus(1)
 * per change-carrying message (an update, or the step 2 of a handshake) after its commit, so the
 * count falls back to zero exactly when everything sent is on disk.
 *
 * Changes made with no handshake under way count as one: the next handshake's step 2 carries all
 * of them. Acknowledgements in flight when the socket drops will never come; what they covered
 * also rides on that next step 2.
 */
export class SaveTracker {
  /** Change-carrying messages sent on this connection and not yet acknowledged. */
  private unacknowledged = 0
  /** Changes that wait for the next handshake's step 2. */
  private pendingOffline = false

  constructor(
    private readonly onUnsaved: (unsavedChanges: number) => void,
    private readonly onSaved: () => void,
  ) {}

  get unsavedChanges(): number {
    return this.unacknowledged + (this.pendingOffline ? 1 : 0)
  }

  /** An update went out. */
  sentUpdate(): void {
    this.change(() => this.unacknowledged++)
  }

  /** A handshake step 2 went out: it carries every change made offline. */
  sentStep2(): void {
    this.change(() => {
      this.pendingOffline = false
      this.unacknowledged++
    })
  }

  /** A change could not be sent (no handshake under way). */
  changedOffline(): void {
    this.change(() => (this.pendingOffline = true))
  }

  /** SyncStatus(1). A refusal (SyncStatus(0), read-only) leaves the change unsaved: it is. */
  acknowledged(): void {
    if (this.unacknowledged === 0) return
    this.unacknowledged--
    if (this.unsavedChanges === 0) this.onSaved()
  }

  /** The socket dropped: what was in flight waits for the next handshake. */
  connectionLost(): void {
    if (this.unacknowledged === 0) return
    this.unacknowledged = 0
    this.pendingOffline = true
  }

  private change(apply: () => void): void {
    const before = this.unsavedChanges
    apply()
    if (before === 0 && this.unsavedChanges > 0) this.onUnsaved(this.unsavedChanges)
  }
}
