/** The crypto worker's entry (module build): see `crypto-worker-main.ts`. */
import { startCryptoWorker } from './crypto-worker-main.ts';

startCryptoWorker();
