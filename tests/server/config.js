// Parses the JSON configuration given as the first command-line argument.

const DEFAULTS = {
  pingInterval: 2000,
  pingTimeout: 5000,
  transports: ["polling", "websocket"],
  allowUpgrades: true,
  maxHttpBufferSize: 1e6,
  connectionStateRecovery: false,
  connectTimeout: undefined,
  tls: undefined,
  port: 0,
  cookie: undefined,
  // The ws library's permessage-deflate: false (socket.io 4's default), true (ws's
  // defaults: messages of 1 KiB or more compressed) or an object of ws's options
  // (threshold, serverNoContextTakeover, clientNoContextTakeover, clientMaxWindowBits...).
  perMessageDeflate: false,
};

export function parseConfig(argument) {
  let given = {};
  if (argument !== undefined && argument.trim() !== "") {
    given = JSON.parse(argument);
  }
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new Error("the configuration must be a JSON object");
  }
  const unknown = Object.keys(given).filter((key) => !(key in DEFAULTS));
  if (unknown.length > 0) {
    throw new Error(`unknown configuration keys: ${unknown.join(", ")}`);
  }
  return { ...DEFAULTS, ...given };
}

// Options for `new Server(...)` derived from the configuration.
export function serverOptions(config) {
  const options = {
    pingInterval: config.pingInterval,
    pingTimeout: config.pingTimeout,
    transports: config.transports,
    allowUpgrades: config.allowUpgrades,
    maxHttpBufferSize: config.maxHttpBufferSize,
    perMessageDeflate: config.perMessageDeflate,
  };
  if (config.connectTimeout !== undefined) {
    options.connectTimeout = config.connectTimeout;
  }
  if (config.connectionStateRecovery) {
    options.connectionStateRecovery = {
      maxDisconnectionDuration: 120000,
      skipMiddlewares: true,
    };
  }
  return options;
}
