"""Email reply-to addresses an account registers, referred to by id (GOV.UK Notify's
``email_reply_to_id``)."""
