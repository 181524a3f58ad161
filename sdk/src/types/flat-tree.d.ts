// Types for the flat-tree package (bin numbering of a binary tree laid out in a flat list).
declare module 'flat-tree' {
  export function fullRoots (index: number, result?: number[]): number[]
  export function depth (index: number): number
  export function sibling (index: number, depth?: number): number
  export function parent (index: number, depth?: number): number
  export function leftChild (index: number, depth?: number): number
  export function rightChild (index: number, depth?: number): number
  export function children (index: number, depth?: number): [number, number] | null
  export function leftSpan (index: number, depth?: number): number
  export function rightSpan (index: number, depth?: number): number
  export function spans (index: number, depth?: number): [number, number]
  export function count (index: number, depth?: number): number
  export function index (depth: number, offset: number): number
  export function offset (index: number, depth?: number): number
}
