// @rudderstack/rudder-sdk-node with only its data plane URL changed: every call type, then flush.
import Analytics from '@rudderstack/rudder-sdk-node'

const [host, writeKey] = process.argv.slice(2)
const client = new Analytics(writeKey, { dataPlaneUrl: host, flushAt: 20, flushInterval: 200, retryCount: 3, logLevel: 'error' })
client.identify({ userId: 'rudder-node-user', traits: { email: 'Rudder@Example.com', plan: 'team' } })
client.track({ userId: 'rudder-node-user', event: 'Order Completed', properties: { revenue: 7 } })
client.page({ userId: 'rudder-node-user', category: 'Shop', name: 'Checkout', properties: { url: 'https://shop.example/c' } })
client.screen({ userId: 'rudder-node-user', name: 'Basket' })
client.group({ userId: 'rudder-node-user', groupId: 'rudder-co', traits: { name: 'Rudder Co' } })
client.alias({ userId: 'rudder-node-user', previousId: 'rudder-anon' })
client.flush((error) => {
  if (error) {
    console.error('rudder-sdk-node error:', error.message || error)
    process.exit(1)
  }
  process.exit(0)
})
