<?php
// Where a wp-config.php read by read-config.php stops: its require of wp-settings.php.
