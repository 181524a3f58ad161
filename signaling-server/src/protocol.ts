/**
 * The wire protocol lives in the SDK (`sdk/src/signaling/protocol.ts`, import-free) so the browser
 * client never pulls server code; the server re-exports it from here.
 */
export * from '../../sdk/src/signaling/protocol.js'
