/**
 * The original munro README example, over real TCP on 127.0.0.1:
 * a broadcaster appends 'hello' and 'world'; a receiver created from the broadcaster's id
 * connects through `net` and reads block 0. Run: `npx tsx sdk/examples/hello.ts`.
 */
import net from 'node:net'
import munro from '../src/index.js'

const text = new TextDecoder()
const broadcaster = munro()
await broadcaster.append(new TextEncoder().encode('hello'))
await broadcaster.broadcast(new TextEncoder().encode('world'))
console.log(`broadcaster: stream id ${broadcaster.key}, appended ${broadcaster.length} blocks (signed)`)

const server = net.createServer((socket) => { socket.pipe(broadcaster.peerStream()).pipe(socket) })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as net.AddressInfo
console.log(`broadcaster: listening on tcp://127.0.0.1:${port}`)

const receiver = munro(broadcaster.key)
const socket = net.connect(port, '127.0.0.1')
socket.pipe(receiver.peerStream()).pipe(socket)
receiver.on('verified', ({ index, byteLength }) => { console.log(`receiver: block ${index} verified (${byteLength} bytes)`) })

console.log(`receiver: get(0) -> '${text.decode(await receiver.get(0))}'`)
console.log(`receiver: get(1) -> '${text.decode(await receiver.get(1))}'`)
const s = receiver.stats()
console.log(`receiver: ${s.bytesReceived} bytes received, ${s.signatureVerifications} signature verification(s)`)

await receiver.destroy()
await broadcaster.destroy()
socket.destroy()
server.close()
