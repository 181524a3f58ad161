export { createSignalingClient, DEFAULT_SIGNALING_CLIENT_OPTIONS } from './client.js'
export type {
  SignalingClient,
  SignalingClientEvents,
  SignalingClientOptions,
  SignalingClientState,
  SignalingTimers,
  WebSocketConstructor,
  WebSocketLike
} from './client.js'
export { SignalingError, type SignalingClientErrorCode } from './errors.js'
export * from './protocol.js'
