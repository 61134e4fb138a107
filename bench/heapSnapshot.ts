/**
 * What a V8 heap snapshot holds, by kind: the self sizes of its nodes summed
 * per kind (closures, function contexts, Effect's fibers and primitives,
 * Node's HTTP objects, strings...), and its closures by the source file of
 * their function. Two snapshots of one server, before and after it opens N
 * streams, give what one open stream holds (bench/heap.ts).
 */

/** A `.heapsnapshot` file, parsed: only the fields this module reads. */
export interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: ReadonlyArray<string>
      readonly node_types: readonly [ReadonlyArray<string>, ...Array<unknown>]
      readonly edge_fields: ReadonlyArray<string>
      readonly edge_types: readonly [ReadonlyArray<string>, ...Array<unknown>]
    }
  }
  readonly nodes: ReadonlyArray<number>
  readonly edges: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

export interface Tally {
  readonly bytes: number
  readonly count: number
}

export interface Inventory {
  /** Every node's self size. */
  readonly bytes: number
  /** By kind: `closure`, `context` (a function's captured variables), `string`, or `object:<constructor>`... */
  readonly kinds: ReadonlyMap<string, Tally>
  /** Closures by the file of their function (a path in the repository, or under node_modules). */
  readonly closuresByFile: ReadonlyMap<string, Tally>
}

/** The kind a node is counted under. */
const kindOf = (type: string, name: string): string => {
  if (type === "object") return name === "system / Context" ? "context" : `object:${name}`
  if (type === "string" || type === "concatenated string" || type === "sliced string") return "string"
  // arrays and V8's internals are named by their role ("(object elements)", "system / PropertyArray")
  // or not at all; code and the rest are one kind each
  if ((type === "array" || type === "hidden") && (name.startsWith("(") || name.startsWith("system /"))) {
    return `${type}:${name}`
  }
  return type
}

/** A script's URL as a short file name: relative to the repository, or to node_modules. */
export const fileLabel = (url: string, root: string): string => {
  const path = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url
  const modules = path.lastIndexOf("/node_modules/")
  if (modules >= 0) return path.slice(modules + "/node_modules/".length).replace("/dist/", "/")
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path
}

const add = (map: Map<string, Tally>, key: string, bytes: number) => {
  const tally = map.get(key)
  map.set(key, { bytes: (tally?.bytes ?? 0) + bytes, count: (tally?.count ?? 0) + 1 })
}

/** Sums a snapshot's nodes by kind, and its closures by file (`root`: the repository, for file names). */
export const inventory = (heap: HeapSnapshot, root: string): Inventory => {
  const meta = heap.snapshot.meta
  const nodeFields = meta.node_fields.length
  const typeAt = meta.node_fields.indexOf("type")
  const nameAt = meta.node_fields.indexOf("name")
  const sizeAt = meta.node_fields.indexOf("self_size")
  const edgeCountAt = meta.node_fields.indexOf("edge_count")
  const edgeFields = meta.edge_fields.length
  const edgeNameAt = meta.edge_fields.indexOf("name_or_index")
  const edgeTypeAt = meta.edge_fields.indexOf("type")
  const edgeToAt = meta.edge_fields.indexOf("to_node")
  const nodeTypes = meta.node_types[0]
  const edgeTypes = meta.edge_types[0]
  const { edges, nodes, strings } = heap

  // where each node's edges start
  const count = nodes.length / nodeFields
  const firstEdge = new Uint32Array(count + 1)
  for (let i = 0, edge = 0; i < count; i++) {
    firstEdge[i] = edge
    edge += nodes[i * nodeFields + edgeCountAt]
  }
  firstEdge[count] = edges.length / edgeFields
  /** The node that `node`'s property edge `name` points to, if any. */
  const property = (node: number, name: string): number | undefined => {
    for (let edge = firstEdge[node]; edge < firstEdge[node + 1]; edge++) {
      const at = edge * edgeFields
      const type = edgeTypes[edges[at + edgeTypeAt]]
      if (type !== "element" && type !== "hidden" && strings[edges[at + edgeNameAt]] === name) {
        return edges[at + edgeToAt] / nodeFields
      }
    }
    return undefined
  }
  // a closure's file: closure -shared-> its function's info -script-> the script, named by its URL
  const fileOfScript = new Map<number, string>()
  const fileOf = (closure: number): string => {
    const shared = property(closure, "shared")
    const script = shared === undefined ? undefined : property(shared, "script")
    if (script === undefined) return "(native)"
    let file = fileOfScript.get(script)
    if (file === undefined) {
      const name = strings[nodes[script * nodeFields + nameAt]]
      file = name === "" ? "(anonymous script)" : fileLabel(name, root)
      fileOfScript.set(script, file)
    }
    return file
  }

  const kinds = new Map<string, Tally>()
  const closuresByFile = new Map<string, Tally>()
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const at = i * nodeFields
    const size = nodes[at + sizeAt]
    const type = nodeTypes[nodes[at + typeAt]]
    bytes += size
    add(kinds, kindOf(type, strings[nodes[at + nameAt]]), size)
    if (type === "closure") add(closuresByFile, fileOf(i), size)
  }
  return { bytes, kinds, closuresByFile }
}

export interface PerStream {
  readonly bytes: number
  /** By kind, largest change first: bytes and count per stream. */
  readonly kinds: ReadonlyArray<readonly [kind: string, bytes: number, count: number]>
  readonly closuresByFile: ReadonlyArray<readonly [file: string, bytes: number, count: number]>
}

const perOne = (before: ReadonlyMap<string, Tally>, after: ReadonlyMap<string, Tally>, n: number) => {
  const rows: Array<readonly [string, number, number]> = []
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const from = before.get(key) ?? { bytes: 0, count: 0 }
    const to = after.get(key) ?? { bytes: 0, count: 0 }
    rows.push([key, (to.bytes - from.bytes) / n, (to.count - from.count) / n])
  }
  return rows.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
}

/** Rows by key, `a`'s less `b`'s (a key missing on one side counts as nothing there), largest change first. */
export const lessRows = (
  a: ReadonlyArray<readonly [string, number, number]>,
  b: ReadonlyArray<readonly [string, number, number]>
): Array<readonly [string, number, number]> => {
  const tally = (rows: typeof a) => new Map(rows.map(([key, bytes, count]) => [key, { bytes, count }]))
  return perOne(tally(b), tally(a), 1)
}

/** What `n` more of something (open streams) hold, each: `after` less `before`, over `n`. */
export const perStream = (before: Inventory, after: Inventory, n: number): PerStream => ({
  bytes: (after.bytes - before.bytes) / n,
  kinds: perOne(before.kinds, after.kinds, n),
  closuresByFile: perOne(before.closuresByFile, after.closuresByFile, n)
})
