import { runStorageContract } from './contract.js'
import { MemoryStorage } from './memory-storage.js'

runStorageContract('MemoryStorage', async () => ({ adapter: new MemoryStorage() }))
