import { describeEditor } from './editor-scenario.js'

// The same page over the y-websocket dialect (`/<room>`), with y-websocket's own provider: what
// every existing y-websocket app gets from this server.
describeEditor('codemirror', 'y-websocket')
