// lib/overlay: the writable union of the upper dir over the CL and lower layers.
export { Overlay, RENAME_EXCHANGE, RENAME_NOREPLACE, type OvHandle, type SetAttr } from './overlay.ts'
export { type Attr, type DirEntry, type NodeType, type OvNode, type OverlayOptions } from './core.ts'
export { errnoOf, fsError, isErrno } from './errors.ts'
export { loadOrigins, setOrigin, getXattrs, setXattr, removeXattr } from './xattr.ts'
export * from './upper_format.ts'
