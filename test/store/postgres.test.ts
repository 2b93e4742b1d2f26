import { openTestStore } from '../support/dialects.ts';
import { storeContract } from './contract.ts';

// The same contract as the SQLite file, on PostgreSQL (TEST_POSTGRES_URL), in a schema of its own
// that is dropped afterwards. An unreachable server fails the suite with a message saying so.
storeContract('postgres', () => openTestStore('postgres'));
