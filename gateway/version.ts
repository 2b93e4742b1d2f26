import pkg from '../package.json' with { type: 'json' };

/** The gateway's version, as package.json says (the compliance export's manifest names it). */
export const GATEWAY_VERSION: string = pkg.version;
