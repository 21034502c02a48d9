/**
 * A dialect session whose client closes the socket after hearing nothing for 30 s (both
 * y-websocket's provider and Hocuspocus's have that watchdog; WebSocket ping frames are invisible
 * to browser code). The server sweeps every session and each sends its dialect's cheapest message
 * when it has sent nothing since `idleSince`.
 */
export interface Keepalive {
  keepalive(idleSince: number): void
}
