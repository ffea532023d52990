"""The push channel: APNs, FCM and Web Push, and the device-token errors they share."""
