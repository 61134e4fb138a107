/**
 * A TCP proxy in front of a server, for tests that cut connections: `cut()`
 * destroys every connection open through it (new ones go through again).
 */
import * as net from "node:net"

export interface Proxy {
  readonly url: string
  /** Destroys the connections open now; how many there were. */
  readonly cut: () => number
  /** Sends the connections opened from now on to another server. */
  readonly retarget: (target: string) => void
  readonly close: () => Promise<void>
}

export const startProxy = async (target: string): Promise<Proxy> => {
  let to = new URL(target)
  const open = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(to.port), to.hostname)
    open.add(client)
    client.pipe(upstream).pipe(client)
    const end = () => {
      open.delete(client)
      client.destroy()
      upstream.destroy()
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    retarget: (next) => {
      to = new URL(next)
    },
    cut: () => {
      const count = open.size
      for (const socket of open) socket.destroy()
      return count
    },
    close: () => {
      for (const socket of open) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    }
  }
}
