/**
 * The same text as one flat string. V8 keeps a string built with `+` or `+=`
 * as a rope, a node per piece (tens of bytes each), for as long as it lives;
 * slicing a concatenation makes it copy the text into one string. (Reading a
 * character of a rope flattens it too, but not once the code is optimized.)
 */
export const flatten = (text: string): string => (" " + text).slice(1)
