import { openTestDb } from '../support/dialects.ts';
import { dbContract } from './contract.ts';

// The same contract as the SQLite file, on PostgreSQL (TEST_POSTGRES_URL), in a schema of its own
// that is dropped afterwards. An unreachable server fails the suite with a message saying so.
dbContract('postgres', () => openTestDb('postgres'));
