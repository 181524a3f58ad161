/**
 * Entry of the `<script>` bundle (`dist/munro.iife.js`, global `Munro`): everything the ESM build
 * exports, plus `<munro-player>` registered on load (idempotently, so loading the script twice,
 * or next to the ESM build, is harmless).
 * @module
 */
import { defineMunroPlayer } from './player-element.js'

export * from './index.js'

if (typeof customElements !== 'undefined') defineMunroPlayer()
