import { pbsOracleSuite } from './pbs-oracle.ts';

pbsOracleSuite('gaussian', 0x1446_0866);
