import { describeEditor } from './editor-scenario.js'

describeEditor('prosemirror')
