import { pbsOracleSuite } from './pbs-oracle.ts';

pbsOracleSuite('tuniform', 0x7f4a_2024);
