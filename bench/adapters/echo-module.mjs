// The bench's module adapter (issue 12): as little work as the in-process echo adapter's execute, so
// gateway-open-module against gateway-open-echo measures the worker round trip alone.
export default function createEchoModule({ businessId }) {
  let orders = 0;
  return {
    async discover() {
      return { status: 'succeeded', data: { businessId } };
    },
    async query(request) {
      return { status: 'succeeded', data: request };
    },
    async execute(request, options) {
      orders++;
      return {
        status: 'succeeded',
        data: { orderId: `ord_${orders}`, request, idempotencyKey: options.idempotencyKey ?? null },
      };
    },
  };
}
