/** Plain data as YAML: block maps and lists, scalars quoted whenever YAML could read them as something else. */

const plain = /^[A-Za-z_/][A-Za-z0-9_./:-]*$/
const reserved = /^(?:true|false|yes|no|on|off|null|~|y|n)$/i

const scalar = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  const text = String(value)
  return plain.test(text) && !reserved.test(text) ? text : JSON.stringify(text)
}

const isEmpty = (value: unknown) =>
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)

const lines = (value: unknown, indent: string): Array<string> => {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (typeof item !== "object" || item === null || isEmpty(item)) return [`${indent}- ${isEmpty(item) ? JSON.stringify(item) : scalar(item)}`]
      const [first, ...rest] = lines(item, `${indent}  `)
      return [`${indent}- ${first.trimStart()}`, ...rest]
    })
  }
  return Object.entries(value as Record<string, unknown>).filter(([, entry]) => entry !== undefined).flatMap(([key, entry]) =>
    typeof entry === "object" && entry !== null && !isEmpty(entry)
      ? [`${indent}${scalar(key)}:`, ...lines(entry, Array.isArray(entry) ? indent : `${indent}  `)]
      : [`${indent}${scalar(key)}: ${isEmpty(entry) ? JSON.stringify(entry) : scalar(entry)}`]
  )
}

/** One YAML document. */
export const stringify = (value: Record<string, unknown>): string => `${lines(value, "").join("\n")}\n`
