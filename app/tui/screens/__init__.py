"""The app's screens, one module each; modals return through dismiss()."""
