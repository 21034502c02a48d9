import { describeEditor } from './editor-scenario.js'

describeEditor('quill')
