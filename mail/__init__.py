"""Page → mail: sanitise, template, inline CSS, images, text part, MIME (network-free parts)."""
